-- Every model with its family placement and the traits the family marts aggregate, plus a
-- per-family fingerprint: it changes whenever any member's row that family_stats or
-- family_growth_monthly read changes, so those marts rebuild exactly the families it flags.
-- A table, not a view: each family mart and its hooks read it three times per build, and the
-- window over every model is the costly part.
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

)

select
    *,
    bit_xor(
        hash(
            model_id, depth, primary_parent_id, primary_relation, is_merge_child, is_in_cycle,
            created_at, licenses
        )
    ) over (partition by family_root_id) as family_fingerprint
from members
