-- One row per current model and distinct value of the tags the paper's summary figure counts
-- (`ecosystem_top_values`): `license:`, `dataset:` and `arxiv:` tags by their value, the parent
-- named by an untyped `base_model:<id>` tag (parsed as int_lineage_tags_parsed does), and the
-- two-letter tags that may be ISO 639-1 language codes. Parsed once per model version, so the
-- figure's counts never re-read the raw payloads. Incremental: the rows of models whose raw row
-- changed since the last build are rebuilt (pre-hook: a new version with none of these tags
-- keeps no stale row); models that left the Hub are deleted (post-hook).
{{ config(
    materialized='incremental',
    unique_key='model_oid',
    incremental_strategy='delete+insert',
    pre_hook=[
        "{{ delete_rows_of_changed('model_oid',
            'select model_oid from ' ~ ref('stg_hub__models') ~ ' where changed_at > ' ~ watermark()) }}",
    ],
    post_hook=[
        "{{ delete_unmatched(ref('stg_hub__models'), 'current.model_oid = kept.model_oid') }}",
        "{{ save_watermark('select max(changed_at) from ' ~ ref('stg_hub__models')) }}",
    ],
) }}

with changed_models as (

    select model_oid, tags
    from {{ ref('stg_hub__models') }}
    where changed_at > {{ watermark() }}

),

tags as (

    select model_oid, unnest(tags) as tag
    from changed_models

),

classified as (

    select
        model_oid,
        case
            when starts_with(tag, 'license:') then 'licenses'
            when starts_with(tag, 'dataset:') then 'datasets'
            when starts_with(tag, 'arxiv:') then 'arxiv_ids'
            when starts_with(tag, 'base_model:')
                and not regexp_matches(tag, '^base_model:(finetune|adapter|quantized|merge):')
                then 'untyped_parents'
            when length(tag) = 2 then 'language_tags'
        end as panel,
        case
            when panel = 'language_tags' then tag
            when panel = 'untyped_parents' then trim(substr(tag, length('base_model:') + 1))
            else substr(tag, strpos(tag, ':') + 1)
        end as value
    from tags

)

select distinct model_oid, panel, value
from classified
where panel is not null
    and (panel <> 'untyped_parents' or value <> '')
