-- The Hub's model tree for every current model: its base models (parents), its direct
-- children by relation (as the Hub counts them: a child declaring several relations counts
-- under each) and all its descendants.
--
-- Incremental, keyed by model: the counts of the edges and the lineage are cheap to take
-- whole (about a million rows at 3M models); a build writes only the rows that differ from
-- the stored ones, so its changed keys (dim_models' change feed) are the models whose tree
-- changed. The candidates are the models with a tree now or before, and the models that
-- changed (a new model gets its empty row).
{{ config(
    materialized='incremental',
    unique_key='model_id',
    incremental_strategy='delete+insert',
    post_hook=[
        "{{ delete_unmatched(ref('int_model_traits'), 'current.model_id = kept.model_id') }}",
        "{{ save_watermark('select max(changed_at) from ' ~ ref('int_model_traits')) }}",
    ],
) }}

with edges as (

    select parent_id, child_id, relation_tags
    from {{ ref('fct_model_edges') }}
    where not is_self_loop

),

children as (

    select
        parent_id as model_id,
        count(*) filter (where list_contains(relation_tags, 'adapter')) as n_adapters,
        count(*) filter (where list_contains(relation_tags, 'finetune')) as n_finetunes,
        count(*) filter (where list_contains(relation_tags, 'quantized')) as n_quantizations,
        count(*) filter (where list_contains(relation_tags, 'merge')) as n_merges,
        count(*) as n_children
    from edges
    group by parent_id

),

parents as (

    select child_id as model_id, list_sort(list(parent_id)) as base_models
    from edges
    group by child_id

),

descendants as (

    select ancestor_id as model_id, count(*) as n_descendants
    from {{ ref('fct_model_lineage') }}
    group by ancestor_id

),

{% if is_incremental() %}
stored_trees as (

    select * from {{ this }}
    where n_children > 0 or n_descendants > 0 or len(base_models) > 0

),

candidates as (

    select model_id from children
    union
    select model_id from parents
    union
    select model_id from descendants
    union
    select model_id from stored_trees
    union
    select model_id from {{ ref('int_model_traits') }} where changed_at > {{ watermark() }}

),
{% endif %}

trees as (

    select
        models.model_id,
        coalesce(parents.base_models, []::varchar[]) as base_models,
        coalesce(children.n_adapters, 0) as n_adapters,
        coalesce(children.n_finetunes, 0) as n_finetunes,
        coalesce(children.n_quantizations, 0) as n_quantizations,
        coalesce(children.n_merges, 0) as n_merges,
        coalesce(children.n_children, 0) as n_children,
        coalesce(descendants.n_descendants, 0) as n_descendants
    from {{ ref('int_model_traits') }} as models
    {% if is_incremental() %}
    inner join candidates on candidates.model_id = models.model_id
    {% endif %}
    left join parents on parents.model_id = models.model_id
    left join children on children.model_id = models.model_id
    left join descendants on descendants.model_id = models.model_id

)

select * from trees
{% if is_incremental() %}
-- an unchanged tree is not rewritten (an empty row of a changed model is, harmlessly)
except
select * from stored_trees
{% endif %}
