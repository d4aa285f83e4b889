-- One row per (parent, child) lineage edge, from typed and untyped `base_model:` tags and from
-- the card header's `base_model`. Primary relation by the paper's precedence:
-- merge > adapter > quantized > finetune; null when no source types the edge.
-- `evidence` and `in_paper_graph` say whether the paper (tags only, parent in the snapshot)
-- has the edge; `paper_relation` is its relation from typed tags alone.
--
-- Incremental, keyed by child: a run rebuilds the edges of children that changed since the
-- last build, of children whose parent changed, appeared or left, and drops the edges of
-- children that left (post-hook) or whose new version declares no parent any more (pre-hook).
{{ config(
    materialized='incremental',
    unique_key='child_id',
    incremental_strategy='delete+insert',
    pre_hook=[
        "{{ delete_rows_of_changed('child_id',
            'select model_id from ' ~ ref('int_model_traits') ~ ' where changed_at > ' ~ watermark()) }}",
    ],
    post_hook=[
        "{{ delete_unmatched(ref('int_model_traits'), 'current.model_id = kept.child_id') }}",
        "{{ save_watermark('select max(changed_at) from ' ~ ref('int_model_traits')) }}",
    ],
) }}

with models as (

    select model_id, created_at, downloads, likes, changed_at
    from {{ ref('int_model_traits') }}

),

{% if is_incremental() %}
changed_models as (

    select model_id from models where changed_at > {{ watermark() }}

),

affected_children as (

    select model_id as child_id from changed_models

    union

    -- a parent changed its counts, or a model with a previously missing parent's id appeared
    select edges.child_id
    from {{ this }} as edges
    inner join changed_models on changed_models.model_id = edges.parent_id

    union

    -- a parent left the Hub or was renamed
    select edges.child_id
    from {{ this }} as edges
    where edges.parent_in_hub
      and not exists (select 1 from models where models.model_id = edges.parent_id)

),
{% endif %}

{% if is_incremental() %}
-- The declarations of the affected children alone (the views parse every model's).
affected_models as (

    select * from {{ ref('int_model_traits') }}
    where model_id in (select child_id from affected_children)

),

declarations as (

    select child_id, parent_id, relation, edge_source
    from ({{ lineage_tag_declarations('affected_models') | indent(8) }})

    union all

    select child_id, parent_id, relation, edge_source
    from ({{ card_base_model_declarations('affected_models') | indent(8) }})

),
{% else %}
declarations as (

    select child_id, parent_id, relation, edge_source
    from {{ ref('int_lineage_tags_parsed') }}

    union all

    select child_id, parent_id, relation, edge_source
    from {{ ref('int_lineage_card_base_models') }}

),
{% endif %}

edges as (

    select
        parent_id,
        child_id,
        arg_max(relation, {{ relation_precedence('relation') }})
            filter (where relation is not null) as relation,
        arg_max(relation, {{ relation_precedence('relation') }})
            filter (where edge_source = 'typed_tag') as paper_relation,
        list_sort(list_distinct(list(relation))) as relation_tags,
        list_sort(list_distinct(list(edge_source))) as edge_sources
    from declarations
    group by parent_id, child_id

)
,

-- the models at either end of an edge being written: incrementally a few hundred, so the
-- joins below do not build hash tables over every model
edge_models as (

    select * from models
    {% if is_incremental() %}
    where model_id in (select child_id from edges union select parent_id from edges)
    {% endif %}

)

select
    edges.parent_id,
    edges.child_id,
    edges.relation,
    coalesce(edges.relation_tags, []::varchar[]) as relation_tags,
    edges.edge_sources,
    case
        when list_contains(edges.edge_sources, 'typed_tag') then 'typed_tag'
        when list_contains(edges.edge_sources, 'untyped_tag') then 'untyped_tag'
        else 'card_data'
    end as evidence,
    edges.paper_relation,
    parents.model_id is not null
        and (
            list_contains(edges.edge_sources, 'typed_tag')
            or list_contains(edges.edge_sources, 'untyped_tag')
        ) as in_paper_graph,
    parents.model_id is not null as parent_in_hub,
    edges.parent_id = edges.child_id as is_self_loop,
    children.likes - parents.likes as likes_change,
    children.downloads - parents.downloads as downloads_change,
    date_diff('second', parents.created_at, children.created_at) / 86400.0
        as created_days_change
from edges
inner join edge_models as children on children.model_id = edges.child_id
left join edge_models as parents on parents.model_id = edges.parent_id
