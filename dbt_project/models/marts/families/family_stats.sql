-- One row per family (a tree of the no-merge lineage forest, named by its root).
-- Incremental: the pre-hook deletes the families int_family_members fed (a member joined,
-- left or changed) and the build aggregates them again.
{{ config(
    materialized='incremental',
    unique_key='family_root_id',
    incremental_strategy='delete+insert',
    meta={'change_feed_from': ['int_family_members']},
    pre_hook=["{{ delete_changed_families() }}"],
) }}

with members as (

    select * from {{ ref('int_family_members') }} as members
    {% if is_incremental() %}
    where members.family_root_id in ({{ changed_families() }})
    {% endif %}

),

widths as (

    select family_root_id, depth, count(*) as n_models_at_depth
    from members
    group by family_root_id, depth

),

parents_in_family as (

    select distinct primary_parent_id as model_id
    from members
    where primary_parent_id is not null

),

license_lists as (

    select family_root_id, list_sort(list_distinct(list(license))) as licenses
    from (select family_root_id, unnest(licenses) as license from members)
    group by family_root_id

),

aggregated as (

    select
        members.family_root_id,
        count(*) as n_models,
        max(members.depth) as max_depth,
        count(*) filter (where parents_in_family.model_id is null) as n_leaves,
        count(*) filter (where members.primary_relation = 'finetune') as n_finetune_children,
        count(*) filter (where members.primary_relation = 'adapter') as n_adapter_children,
        count(*) filter (where members.primary_relation = 'quantized') as n_quantized_children,
        count(*) filter (
            where members.depth > 0 and members.primary_relation is null
        ) as n_untyped_children,
        count(*) filter (where members.is_merge_child) as n_merge_children,
        bool_or(members.is_in_cycle) as has_cycle,
        min(members.created_at) as first_created_at,
        max(members.created_at) as last_created_at
    from members
    left join parents_in_family on parents_in_family.model_id = members.model_id
    group by members.family_root_id

)

select
    aggregated.family_root_id,
    aggregated.n_models,
    aggregated.max_depth,
    (select max(widths.n_models_at_depth) from widths
     where widths.family_root_id = aggregated.family_root_id) as max_width,
    aggregated.n_leaves,
    aggregated.n_finetune_children,
    aggregated.n_adapter_children,
    aggregated.n_quantized_children,
    aggregated.n_untyped_children,
    aggregated.n_merge_children,
    coalesce(license_lists.licenses, []::varchar[]) as licenses,
    aggregated.has_cycle,
    aggregated.first_created_at,
    aggregated.last_created_at
from aggregated
left join license_lists on license_lists.family_root_id = aggregated.family_root_id
