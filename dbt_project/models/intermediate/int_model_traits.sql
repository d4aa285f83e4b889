-- One row per current model: the traits the paper reads from a model's metadata, parsed once
-- from the list-API payload. Incremental: only models whose raw row changed since the last
-- build are parsed again; models that left the Hub are deleted by the post-hook.
{{ config(
    materialized='incremental',
    unique_key='model_oid',
    incremental_strategy='delete+insert',
    post_hook=[
        "{{ delete_unmatched(ref('stg_hub__models'), 'current.model_oid = kept.model_oid') }}",
        "{{ save_watermark('select max(changed_at) from ' ~ ref('stg_hub__models')) }}",
    ],
) }}

with changed_models as (

    select
        *,
        -- extracted once: the card header's fields are read by several expressions below
        card_fields[1] as card_license,
        card_fields[2] as card_language,
        card_fields[3] as card_base_model,
        card_fields[4] ->> '$' as card_base_model_relation
    from (
        select
            *,
            -- one parse of the header for all its fields
            json_extract(card_data, ['$.license', '$.language', '$.base_model', '$.base_model_relation'])
                as card_fields
        from {{ ref('stg_hub__models') }}
        where changed_at > {{ watermark() }}
    )

),

license_aliases as (

    select alias, license from {{ ref('license_aliases') }}

),

iso_languages as (

    select language_code from {{ ref('iso_639_1_languages') }}

),

-- Every trait mention of a model, from its tags and from its card header (cardData).
mentions as (

    select
        model_oid,
        case
            when starts_with(tag, 'license:') then 'license'
            when starts_with(tag, 'dataset:') then 'dataset'
            when starts_with(tag, 'arxiv:') then 'arxiv'
            when starts_with(tag, 'region:') then 'region'
            when starts_with(tag, 'base_model:') then 'lineage_tag'
            when tag = 'multilingual' then 'multilingual'
            when length(tag) = 2 then 'language_tag'
        end as kind,
        case
            when starts_with(tag, 'base_model:') or length(tag) = 2 then tag
            else substr(tag, strpos(tag, ':') + 1)
        end as value
    from (select model_oid, unnest(tags) as tag from changed_models)

    union all

    select model_oid, 'license', unnest({{ json_string_list('card_license') }})
    from changed_models

    union all

    select model_oid, 'card_language', unnest({{ json_string_list('card_language') }})
    from changed_models

    union all

    select model_oid, 'card_base_model', unnest({{ json_string_list('card_base_model') }})
    from changed_models

),

classified as (

    select
        mentions.model_oid,
        mentions.kind,
        mentions.value,
        case
            when mentions.kind = 'license'
                then coalesce(license_aliases.license, lower(trim(mentions.value)))
        end as license,
        iso_languages.language_code
    from mentions
    left join license_aliases
        on mentions.kind = 'license'
        and license_aliases.alias = lower(trim(mentions.value))
    left join iso_languages
        on mentions.kind in ('language_tag', 'card_language')
        and iso_languages.language_code = lower(mentions.value)
    where mentions.kind is not null

),

-- Lists are sorted and deduplicated afterwards: ordered aggregates are much slower.
traits as (

    select
        model_oid,
        list(license)
            filter (where kind = 'license' and license <> '') as licenses,
        list(language_code)
            filter (where kind = 'language_tag' and language_code is not null) as languages,
        list(lower(value))
            filter (
                where kind = 'card_language'
                and language_code is null
                and lower(value) <> 'multilingual'
            ) as other_language_codes,
        bool_or(
            kind = 'multilingual' or (kind = 'card_language' and lower(value) = 'multilingual')
        ) as is_multilingual,
        list(value) filter (where kind = 'dataset') as datasets,
        list(value) filter (where kind = 'arxiv') as arxiv_ids,
        list(value) filter (where kind = 'region') as regions,
        list(value) filter (where kind = 'lineage_tag') as lineage_tags,
        list(value)
            filter (where kind = 'card_base_model') as card_base_models
    from classified
    group by model_oid

)

select
    changed_models.model_oid,
    changed_models.model_id,
    changed_models.author,
    changed_models.created_at,
    changed_models.last_modified,
    changed_models.downloads,
    changed_models.likes,
    changed_models.pipeline_tag,
    changed_models.library_name,
    coalesce(list_sort(list_distinct(traits.licenses)), []::varchar[]) as licenses,
    coalesce(list_sort(list_distinct(traits.languages)), []::varchar[]) as languages,
    coalesce(list_sort(list_distinct(traits.other_language_codes)), []::varchar[]) as other_language_codes,
    coalesce(traits.is_multilingual, false) as is_multilingual,
    coalesce(list_sort(list_distinct(traits.datasets)), []::varchar[]) as datasets,
    coalesce(list_sort(list_distinct(traits.arxiv_ids)), []::varchar[]) as arxiv_ids,
    coalesce(list_sort(list_distinct(traits.regions)), []::varchar[]) as regions,
    coalesce(list_sort(list_distinct(traits.lineage_tags)), []::varchar[]) as lineage_tags,
    coalesce(list_sort(list_distinct(traits.card_base_models)), []::varchar[]) as card_base_models,
    changed_models.card_base_model_relation,
    changed_models.parameter_count,
    changed_models.architecture,
    changed_models.model_type,
    changed_models.gated,
    changed_models.changed_at
from changed_models
left join traits on traits.model_oid = changed_models.model_oid
