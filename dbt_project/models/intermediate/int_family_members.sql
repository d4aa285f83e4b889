-- Every model with its family placement and the traits the family marts aggregate, plus a
-- per-family fingerprint: it changes whenever any member's row that family_stats or
-- family_growth_monthly read changes, so those marts rebuild exactly the families it flags.
-- A table, not a view: each family mart and its hooks read it three times per build, and the
-- fingerprint over every model is the costly part.
{{ config(materialized='table') }}

with members as (

    select
        family.model_id,
        family.family_root_id,
        family.depth,
        family.primary_parent_id,
        family.primary_relation,
        family.is_merge_child,
        family.is_in_cycle,
        traits.created_at,
        traits.licenses
    from {{ ref('dim_model_family') }} as family
    inner join {{ ref('int_model_traits') }} as traits on traits.model_id = family.model_id

),

-- Each family's fingerprint is a group by on the member hashes, joined back: a window over
-- the members' wide rows took 1.6 times as long at 3M models.
hashed as (

    select
        *,
        hash(
            model_id, depth, primary_parent_id, primary_relation, is_merge_child, is_in_cycle,
            created_at, licenses
        ) as member_hash
    from members

),

fingerprints as (

    select family_root_id, bit_xor(member_hash) as family_fingerprint
    from hashed
    group by family_root_id

)

select hashed.* exclude (member_hash), fingerprints.family_fingerprint
from hashed
inner join fingerprints
    on fingerprints.family_root_id is not distinct from hashed.family_root_id
