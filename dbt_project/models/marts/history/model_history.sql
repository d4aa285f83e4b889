-- One row per version of every model the warehouse observed, deleted models included, with
-- the interval in which it was the model's state (valid_from inclusive, valid_to exclusive).
-- valid_from is Hub time: the model's creation for the first version the warehouse saw
-- (earlier versions are unknown; the first one seen stands for them), the commit time
-- (lastModified) for later ones, the observation time when the Hub gave none; kept
-- non-decreasing in observation order. valid_to is the next version's valid_from, or the
-- deletion a sweep saw; null while current.
-- Incremental, keyed by model: the models whose versions, row or README changed are redone.
{{ config(
    materialized='incremental',
    unique_key='model_oid',
    incremental_strategy='delete+insert',
    post_hook=["{{ save_history_watermarks() }}"],
) }}

with changed as (

    {{ changed_model_oids() | indent(4) }}

),

models as (

    select model_oid, model_id, created_at, deleted_at
    from {{ source('hub', 'hub_models') }}
    where model_oid in (select model_oid from changed)

),

-- The windows carry only the keys and clocks; the wide columns (lists of tags, licences and
-- edges) join back at the end. Carried through three window sorts, they made this model 1.7
-- times slower at 3M versions.
numbered as (

    select
        versions.model_oid,
        versions.version_key,
        versions.observed_at,
        versions.last_modified,
        models.model_id,
        models.created_at,
        models.deleted_at,
        row_number() over (
            partition by versions.model_oid
            order by versions.observed_at, versions.last_modified, versions.version_key
        ) as version_number
    from {{ ref('int_model_versions') }} as versions
    inner join models on models.model_oid = versions.model_oid

),

dated as (

    select
        *,
        max(
            case
                when version_number = 1
                    then coalesce(created_at, last_modified, observed_at)
                else coalesce(last_modified, observed_at)
            end
        ) over (
            partition by model_oid order by version_number
            rows between unbounded preceding and current row
        ) as valid_from
    from numbered

),

bounded as (

    select
        *,
        coalesce(
            lead(valid_from) over (partition by model_oid order by version_number),
            case when deleted_at is not null then greatest(deleted_at, valid_from) end
        ) as valid_to
    from dated

),

cards as (

    select model_oid, version_key, content_hash
    from {{ ref('stg_hub__card_fetches') }}
    where fetch_status = 'ok' and model_oid in (select model_oid from changed)

)

select
    bounded.model_oid,
    bounded.model_id,
    bounded.version_key,
    bounded.version_number,
    versions.version_model_id,
    versions.sha,
    bounded.created_at,
    bounded.valid_from,
    bounded.valid_to,
    bounded.valid_to is null as is_current,
    bounded.observed_at,
    bounded.last_modified,
    versions.licenses,
    versions.tags,
    versions.pipeline_tag,
    versions.library_name,
    versions.gated,
    versions.base_models,
    versions.edges,
    cards.content_hash as card_hash
from bounded
inner join {{ ref('int_model_versions') }} as versions
    on versions.model_oid = bounded.model_oid and versions.version_key = bounded.version_key
left join cards
    on cards.model_oid = bounded.model_oid and cards.version_key = bounded.version_key
