{#- The edge-level drift marts (license_drift, language_drift, card_drift, trait_mutations):
    one row per lineage edge between two distinct models of the Hub (and per trait), keyed by
    child. An incremental build rewrites every edge of the children whose edges changed (the
    change feed of fct_model_edges) or that have a model of `changed_models_sql` as themselves
    or as a parent; `delete_gone_edges` drops the rows of edges that are gone. -#}
{% macro drift_edges(changed_models_sql) -%}
    select parent_id, child_id, relation
    from {{ ref('fct_model_edges') }} as edge
    where parent_in_hub and not is_self_loop
    {%- if is_incremental() %}
      -- every edge of an affected child: the build replaces all of a child's rows
      and (
        {{ fed_change('fct_model_edges', 'edge.child_id') }}
        or edge.child_id in (
            select touched.child_id from {{ ref('fct_model_edges') }} as touched
            where touched.child_id in ({{ changed_models_sql }})
               or touched.parent_id in ({{ changed_models_sql }})
        )
      )
    {%- endif %}
{%- endmacro %}

{% macro delete_gone_edges() -%}
    {{ delete_unmatched(ref('fct_model_edges'),
        'current.child_id = kept.child_id and current.parent_id = kept.parent_id
         and current.parent_in_hub and not current.is_self_loop') }}
{%- endmacro %}

{#- The paper's mutation term: the Jaccard distance of two sets (lists without duplicates),
    null unless both have values. -#}
{% macro jaccard_distance(left, right) -%}
    case
        when len({{ left }}) > 0 and len({{ right }}) > 0
            then 1 - len(list_intersect({{ left }}, {{ right }}))
                / len(list_distinct(list_concat({{ left }}, {{ right }})))
    end
{%- endmacro %}
