-- One row per (ancestor, descendant) pair of the lineage graph: every relation (finetune,
-- adapter, quantized, merge) and untyped edges, parents outside the Hub included (they end
-- a path). Shortest distance and one shortest path; self-loops and cycles are safe (see the
-- macro lineage_walk).
--
-- Incremental, keyed by descendant: a run walks again from the models that changed since the
-- last build, appeared or left, and from everything below them (before and after the
-- change); other descendants keep their rows. A descendant whose walk finds nothing (it
-- dropped its last parent) loses its rows in the post-hook.
{{ config(
    materialized='incremental',
    unique_key='descendant_id',
    incremental_strategy='delete+insert',
    post_hook=[
        "{{ delete_unmatched(ref('int_model_traits'), 'current.model_id = kept.descendant_id') }}",
        "{{ delete_unmatched(ref('fct_model_edges'),
            'current.child_id = kept.descendant_id and not current.is_self_loop') }}",
        "{{ save_watermark('select max(changed_at) from ' ~ ref('int_model_traits')) }}",
    ],
) }}

with recursive models as (

    select model_id, changed_at from {{ ref('int_model_traits') }}

),

edges as (

    select parent_id, child_id, relation from {{ ref('fct_model_edges') }}

),

{% if is_incremental() %}
-- Models whose edges or presence changed: new, edited or renamed models, and models that
-- left (as stored ancestors now missing, or stored missing ancestors now present).
changed_ids (model_id) as (

    select model_id from models where changed_at > {{ watermark() }}

    union

    select stored.ancestor_id
    from {{ this }} as stored
    where stored.ancestor_in_hub
      and not exists (select 1 from models where models.model_id = stored.ancestor_id)

),

-- Everything below a changed model, in the stored lineage and in the current graph.
affected (model_id) as (

    select model_id from changed_ids

    union

    select stored.descendant_id
    from {{ this }} as stored
    inner join changed_ids on changed_ids.model_id = stored.ancestor_id

    union

    select edges.child_id
    from affected
    inner join edges on edges.parent_id = affected.model_id

),
{% endif %}

walked as (

    {{ lineage_walk(
        'select parent_id, child_id, relation from ' ~ ref('fct_model_edges'),
        'select model_id from affected' if is_incremental() else 'select model_id from ' ~ ref('int_model_traits'),
    ) | indent(4) }}

)

select
    walked.ancestor_id,
    walked.descendant_id,
    walked.distance,
    walked.path,
    walked.relations,
    list_contains(walked.relations, 'merge') as is_through_merge,
    ancestors.model_id is not null as ancestor_in_hub
from walked
left join models as ancestors on ancestors.model_id = walked.ancestor_id
