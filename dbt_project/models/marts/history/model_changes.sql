-- The change log: one row per change the warehouse saw, tagged with the dbt run that saw it
-- (run_id = dbt's invocation id, run_started_at). A run compares each model whose raw row
-- changed since the last run with the state the log holds for it:
--   new_model    first seen (the first run logs every model it finds)
--   new_version  a new commit (new sha), or a new payload changing a tracked field when the
--                source has no sha; changed_fields lists the tracked fields that differ
--                (licenses, tags, pipeline_tag, library_name, base_models, gated)
--   counts_only  the row changed, but no commit and no tracked field (downloads, likes, ...)
--   renamed      same Hub _id, new repo id (old_value -> new_value)
--   deleted      a sweep no longer found it; restored: found again
--   edge_added / edge_removed   a declared (parent_id, relation) appeared or went away
-- Append-only and kept by `--full-refresh` (full_refresh=false): the log is the only record
-- of what each run saw.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    meta={'run_id_column': 'run_id'},
    post_hook=[
        "{{ save_watermark('select greatest(max(changed_at), max(deleted_at)) from ' ~ source('hub', 'hub_models')) }}",
    ],
) }}

with current_models as (

    select model_oid, model_id, version_key, deleted_at is not null as is_deleted
    from {{ source('hub', 'hub_models') }}
    where changed_at > {{ watermark() }} or deleted_at > {{ watermark() }}

),

versions as (

    select model_oid, version_key, sha, licenses, tags, pipeline_tag, library_name, base_models,
           gated, edges
    from {{ ref('int_model_versions') }}
    where model_oid in (select model_oid from current_models)

),

{% if is_incremental() %}
-- What the log last said about each changed model.
previous as (

    select
        model_oid,
        arg_max(model_id, run_started_at) as model_id,
        arg_max(version_key, run_started_at) as version_key,
        arg_max(change_kind, row(run_started_at, change_kind = 'deleted')) = 'deleted'
            as is_deleted
    from {{ this }}
    where change_kind not in ('edge_added', 'edge_removed')
      and model_oid in (select model_oid from current_models)
    group by model_oid

),

previous_edges as (

    select model_oid, parent_id, relation
    from {{ this }}
    where change_kind in ('edge_added', 'edge_removed')
      and model_oid in (select model_oid from current_models)
    group by model_oid, parent_id, relation
    having arg_max(change_kind, run_started_at) = 'edge_added'

),
{% else %}
previous as (

    select null::varchar as model_oid, null::varchar as model_id,
           null::varchar as version_key, null::boolean as is_deleted
    where false

),

previous_edges as (

    select null::varchar as model_oid, null::varchar as parent_id, null::varchar as relation
    where false

),
{% endif %}

compared as (

    select
        current_models.*,
        previous.model_oid is not null as was_seen,
        previous.model_id as previous_model_id,
        previous.version_key as previous_version_key,
        previous.is_deleted as was_deleted,
        old.sha is distinct from new.sha as is_new_commit,
        list_filter(
            [
                case when old.licenses <> new.licenses then 'licenses' end,
                case when old.tags <> new.tags then 'tags' end,
                case when old.pipeline_tag is distinct from new.pipeline_tag then 'pipeline_tag' end,
                case when old.library_name is distinct from new.library_name then 'library_name' end,
                case when old.base_models <> new.base_models then 'base_models' end,
                case when old.gated is distinct from new.gated then 'gated' end
            ],
            lambda field: field is not null
        ) as changed_fields
    from current_models
    left join previous on previous.model_oid = current_models.model_oid
    left join versions as new
        on new.model_oid = current_models.model_oid
        and new.version_key = current_models.version_key
    left join versions as old
        on old.model_oid = current_models.model_oid
        and old.version_key = previous.version_key

),

model_changes as (

    select model_oid, model_id, version_key, 'new_model' as change_kind,
           []::varchar[] as changed_fields, null as old_value, null as new_value
    from compared
    where not was_seen and not is_deleted

    union all

    select model_oid, model_id, version_key, 'deleted', [], null, null
    from compared
    where was_seen and is_deleted and not was_deleted

    union all

    select model_oid, model_id, version_key, 'restored', [], null, null
    from compared
    where was_seen and not is_deleted and was_deleted

    union all

    select model_oid, model_id, version_key, 'renamed', [], previous_model_id, model_id
    from compared
    where was_seen and not is_deleted and previous_model_id <> model_id

    union all

    select
        model_oid, model_id, version_key,
        case when is_new_commit or len(changed_fields) > 0 then 'new_version' else 'counts_only' end,
        changed_fields, previous_version_key, version_key
    from compared
    where was_seen and not is_deleted and not was_deleted
      and previous_version_key <> version_key

    union all

    select model_oid, model_id, version_key, 'counts_only', [], null, null
    from compared
    where was_seen and not is_deleted and not was_deleted
      and previous_version_key = version_key and previous_model_id = model_id

),

current_edges as (

    select model_oid, edge.parent_id, edge.relation
    from (
        select compared.model_oid, unnest(versions.edges) as edge
        from compared
        inner join versions
            on versions.model_oid = compared.model_oid
            and versions.version_key = compared.version_key
        where not compared.is_deleted
    )

),

edge_changes as (

    select model_oid, parent_id, relation, 'edge_added' as change_kind
    from (select * from current_edges except select * from previous_edges)

    union all

    select model_oid, parent_id, relation, 'edge_removed'
    from (select * from previous_edges except select * from current_edges)

)

select
    '{{ invocation_id }}' as run_id,
    '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}'::timestamp as run_started_at,
    model_oid,
    model_id,
    change_kind,
    changed_fields,
    null::varchar as parent_id,
    null::varchar as relation,
    old_value::varchar as old_value,
    new_value::varchar as new_value,
    version_key
from model_changes

union all

select
    '{{ invocation_id }}',
    '{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}'::timestamp,
    edge_changes.model_oid,
    compared.model_id,
    edge_changes.change_kind,
    []::varchar[],
    edge_changes.parent_id,
    edge_changes.relation,
    null,
    null,
    compared.version_key
from edge_changes
inner join compared on compared.model_oid = edge_changes.model_oid
