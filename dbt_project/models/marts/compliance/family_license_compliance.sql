-- One row per family (dim_model_family): how many members break the licence terms of an
-- ancestor (model_license_compliance), how many of those only an ancestor further up than
-- the parent reveals, and the family's most restrictive licence.
-- Incremental: a build aggregates again the families int_family_members fed (a member
-- joined, left or moved) and those with a member whose judgement changed
-- (model_license_compliance's change feed).
{{ config(
    materialized='incremental',
    unique_key='family_root_id',
    incremental_strategy='delete+insert',
    meta={'change_feed_from': ['int_family_members', 'model_license_compliance']},
    pre_hook=["{{ delete_changed_families('model_license_compliance') }}"],
) }}

with members as (

    select
        family.family_root_id,
        compliance.*
    from {{ ref('int_family_members') }} as family
    inner join {{ ref('model_license_compliance') }} as compliance
        on compliance.model_id = family.model_id
    {% if is_incremental() %}
    where family.family_root_id in ({{ changed_families('model_license_compliance') }})
    {% endif %}

),

rule_counts as (

    select family_root_id, violated_rule, count(*) as n_models
    from members
    where violated_rule is not null
    group by family_root_id, violated_rule

)

select
    members.family_root_id,
    count(*) as n_models,
    count(members.license_category) as n_licensed,
    count(*) filter (where members.breaks_ancestor_terms) as n_breaking_ancestor_terms,
    count(*) filter (where members.breaks_parent_terms) as n_breaking_parent_terms,
    count(*) filter (where members.breaks_ancestor_terms and not members.breaks_parent_terms)
        as n_breaking_only_upstream_terms,
    avg(members.breaks_ancestor_terms::int) filter (where members.license_category is not null)
        as share_licensed_breaking_ancestor_terms,
    arg_min(members.primary_license, row(members.restrictiveness_rank, members.primary_license))
        as most_restrictive_license,
    min(members.restrictiveness_rank) as most_restrictive_rank,
    (select arg_max(rule_counts.violated_rule, row(rule_counts.n_models, rule_counts.violated_rule))
     from rule_counts where rule_counts.family_root_id = members.family_root_id)
        as most_common_violated_rule
from members
group by members.family_root_id
