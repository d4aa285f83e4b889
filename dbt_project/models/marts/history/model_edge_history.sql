-- One row per lineage edge and interval in which the child declared it (tags or card header),
-- from the child's versions in model_history: consecutive versions declaring the same
-- (parent, relation) make one interval; a changed relation starts a new one. The child is
-- named by its current id; the parent as the child declares it.
-- Incremental, keyed by child, like model_history.
{{ config(
    materialized='incremental',
    unique_key='child_oid',
    incremental_strategy='delete+insert',
    post_hook=[
        "{{ save_history_watermarks() }}",
        "{{ create_as_of_macros() }}",
    ],
) }}

with versions as (

    select model_oid, model_id, version_number, valid_from, valid_to, edges
    from {{ ref('model_history') }}
    where model_oid in ({{ changed_model_oids() }})

),

declared as (

    select
        model_oid,
        model_id,
        version_number,
        valid_from,
        valid_to,
        edge.parent_id,
        edge.relation
    from (
        select model_oid, model_id, version_number, valid_from, valid_to, unnest(edges) as edge
        from versions
    )

),

-- gaps and islands: a run of consecutive versions declaring the same edge
islands as (

    select
        *,
        version_number - row_number() over (
            partition by model_oid, parent_id, relation order by version_number
        ) as island
    from declared

)

select
    model_oid as child_oid,
    any_value(model_id) as child_id,
    parent_id,
    relation,
    min(valid_from) as valid_from,
    arg_max_null(valid_to, version_number) as valid_to,
    arg_max_null(valid_to, version_number) is null as is_current
from islands
group by model_oid, parent_id, relation, island
