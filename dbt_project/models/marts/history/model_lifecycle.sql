-- One row per model the warehouse ever saw (deleted ones included): when it was created on
-- the Hub, first seen by the warehouse, deleted, and every name it had (renames).
-- Incremental, keyed by model, like model_history.
{{ config(
    materialized='incremental',
    unique_key='model_oid',
    incremental_strategy='delete+insert',
    post_hook=["{{ save_history_watermarks() }}"],
) }}

with changed as (

    {{ changed_model_oids() | indent(4) }}

),

names as (

    select
        model_oid,
        list(model_id order by first_seen_at, model_id) as model_ids,
        case when count(*) > 1 then max(first_seen_at) end as last_renamed_at,
        count(*) - 1 as n_renames
    from {{ source('hub', 'hub_model_names') }}
    where model_oid in (select model_oid from changed)
    group by model_oid

),

versions as (

    select model_oid, count(*) as n_versions
    from {{ source('hub', 'hub_model_versions') }}
    where model_oid in (select model_oid from changed)
    group by model_oid

)

select
    models.model_oid,
    models.model_id,
    models.created_at,
    models.first_seen_at,
    models.deleted_at,
    models.deleted_at is not null as is_deleted,
    coalesce(list_filter(names.model_ids, lambda name: name <> models.model_id), []::varchar[])
        as previous_model_ids,
    coalesce(names.n_renames, 0) as n_renames,
    case when coalesce(names.n_renames, 0) > 0 then names.last_renamed_at end as last_renamed_at,
    coalesce(versions.n_versions, 0) as n_versions
from {{ source('hub', 'hub_models') }} as models
left join names on names.model_oid = models.model_oid
left join versions on versions.model_oid = models.model_oid
where models.model_oid in (select model_oid from changed)
