{#- Lineage declarations of the models in `models_sql` (a relation or a subquery with the
    columns of int_model_traits). The views int_lineage_tags_parsed and
    int_lineage_card_base_models apply them to every current model; an incremental
    fct_model_edges applies them to the children it rebuilds, since DuckDB does not push a
    filter on the child through the views' unnest and distinct (at 3M models the views parsed
    1.9M tags to rebuild 300 children's edges: 2.4 s). -#}

{#- One row per (child, parent, relation) declared by a `base_model:` tag.
    `base_model:<relation>:<parent>` is typed; `base_model:<parent>` (one colon) is untyped. -#}
{% macro lineage_tag_declarations(models_sql) -%}
with lineage_tags as (

    select
        model_id as child_id,
        unnest(lineage_tags) as tag
    from {{ models_sql }}

),

parsed as (

    select
        child_id,
        regexp_extract(tag, '^base_model:(finetune|adapter|quantized|merge):', 1) as typed_relation,
        case
            when typed_relation <> ''
                then substr(tag, length('base_model:' || typed_relation || ':') + 1)
            else substr(tag, length('base_model:') + 1)
        end as parent_id
    from lineage_tags

)

select distinct
    child_id,
    trim(parent_id) as parent_id,
    nullif(typed_relation, '') as relation,
    case when typed_relation <> '' then 'typed_tag' else 'untyped_tag' end as edge_source
from parsed
where trim(parent_id) <> ''
{%- endmacro %}

{#- One row per (child, parent) named by the card header's `base_model` (a string or a list;
    other JSON types were dropped when the traits were parsed). The relation comes from
    `base_model_relation` when it holds one of the four known relations, otherwise it is null. -#}
{% macro card_base_model_declarations(models_sql) -%}
select distinct
    model_id as child_id,
    parent_id,
    case
        when card_base_model_relation in ('finetune', 'adapter', 'quantized', 'merge')
            then card_base_model_relation
    end as relation,
    'card_data' as edge_source
from (
    select model_id, card_base_model_relation, unnest(card_base_models) as parent_id
    from {{ models_sql }}
)
{%- endmacro %}
