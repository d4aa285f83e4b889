-- The Hub's model tree for every current model: its base models (parents), its direct
-- children by relation (as the Hub counts them: a child declaring several relations counts
-- under each) and all its descendants. Rebuilt on every run: dim_models compares it with its
-- stored counts to find the models whose tree changed.
{{ config(materialized='table') }}

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

)

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
left join parents on parents.model_id = models.model_id
left join children on children.model_id = models.model_id
left join descendants on descendants.model_id = models.model_id
