-- One row per family (a tree of the no-merge lineage forest, named by its root).
-- Incremental: only families whose member fingerprint changed since the last build (kept in
-- intermediate.dbt_family_fingerprints) are aggregated again.
{{ config(
    materialized='incremental',
    unique_key='family_root_id',
    incremental_strategy='delete+insert',
    post_hook=[
        "{{ delete_unmatched(ref('dim_model_family'),
            'current.model_id = kept.family_root_id and current.is_root') }}",
        "{{ save_family_fingerprints() }}",
    ],
) }}

with members as (

    select * from {{ ref('int_family_members') }}
    {% if is_incremental() %}
    where family_root_id in (
        select distinct current.family_root_id
        from {{ ref('int_family_members') }} as current
        left join {{ stored_family_fingerprints() }} as stored
            on stored.family_root_id = current.family_root_id
        where stored.family_fingerprint is distinct from current.family_fingerprint
    )
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
