-- One row per current model: its traits (licenses, languages, datasets, arXiv ids, task,
-- library, regions) and its model card's features, as the paper defines them.
-- Incremental: a model is rebuilt when its traits change, its card is fetched again (two
-- clocks, two watermarks) or its model tree (base models, children, descendants) changed
-- (the change feed of int_model_tree_counts); every model when a licence seed changed.
{{ config(
    materialized='incremental',
    unique_key='model_oid',
    incremental_strategy='delete+insert',
    meta={'change_feed_from': ['int_model_tree_counts']},
    post_hook=[
        "{{ delete_unmatched(ref('int_model_traits'), 'current.model_oid = kept.model_oid') }}",
        "{{ save_watermark('select max(changed_at) from ' ~ ref('int_model_traits'), 'traits') }}",
        "{{ save_watermark('select max(fetched_at) from ' ~ ref('stg_hub__card_fetches'), 'cards') }}",
        "{{ save_inputs_fingerprint(license_seeds()) }}",
    ],
) }}

-- Incrementally, the few changed models (and their cards) are materialized first and the
-- other inputs filtered by their keys: DuckDB did not push the joins into the card view's
-- joins, the licence view's grouping or the 2M card features (1.5 -> 0.9 s after a
-- 300-model delta at 3M).
with changed_models as {% if is_incremental() %}materialized {% endif %}(

    select traits.*
    from {{ ref('int_model_traits') }} as traits
    {% if is_incremental() %}
    where traits.changed_at > {{ watermark('traits') }}
       -- any fetch since the last build, of the current version or not (a superset)
       or traits.model_oid in (
            select model_oid from {{ ref('stg_hub__card_fetches') }}
            where fetched_at > {{ watermark('cards') }}
       )
       or {{ fed_change('int_model_tree_counts', 'traits.model_id') }}
       or {{ inputs_changed(license_seeds()) }}
    {% endif %}

),

cards as {% if is_incremental() %}materialized {% endif %}(

    select * from {{ ref('stg_hub__model_cards') }}
    {% if is_incremental() %}
    where model_oid in (select model_oid from changed_models)
    {% endif %}

),

features as (

    select * from {{ ref('int_card_features') }}
    {% if is_incremental() %}
    where content_hash in (select content_hash from cards)
    {% endif %}

),

tree as (

    select * from {{ ref('int_model_tree_counts') }}
    {% if is_incremental() %}
    where model_id in (select model_id from changed_models)
    {% endif %}

),

license as (

    select * from {{ ref('int_model_license_category') }}
    {% if is_incremental() %}
    where model_id in (select model_id from changed_models)
    {% endif %}

),

card_features as (

    select
        changed_models.model_oid,
        coalesce(cards.fetch_status, 'not_fetched') as card_fetch_status,
        cards.fetched_at as card_fetched_at,
        coalesce(features.has_card, false) as has_card,
        features.card_length_chars,
        features.card_length_words,
        coalesce(features.card_is_auto_generated, false) as card_is_auto_generated,
        coalesce(features.card_is_templated, false) as card_is_templated
    from changed_models
    left join cards on cards.model_oid = changed_models.model_oid
    left join features
        on features.content_hash = cards.content_hash and cards.fetch_status = 'ok'

)

select
    changed_models.model_id,
    changed_models.model_oid,
    changed_models.author,
    changed_models.created_at,
    changed_models.last_modified,
    changed_models.downloads,
    changed_models.likes,
    changed_models.pipeline_tag,
    changed_models.library_name,
    changed_models.gated,
    changed_models.gated is not null and changed_models.gated <> 'false' as is_gated,
    changed_models.parameter_count,
    changed_models.architecture,
    changed_models.model_type,
    changed_models.licenses,
    license.primary_license,
    license.license_category,
    ranks.restrictiveness_rank as license_restrictiveness_rank,
    changed_models.languages,
    changed_models.other_language_codes,
    changed_models.is_multilingual,
    changed_models.datasets,
    changed_models.arxiv_ids,
    changed_models.regions,
    card_features.card_fetch_status,
    card_features.has_card,
    card_features.card_length_chars,
    card_features.card_length_words,
    card_features.card_is_auto_generated,
    card_features.card_is_templated,
    card_features.card_fetched_at,
    tree.base_models,
    tree.n_adapters,
    tree.n_finetunes,
    tree.n_quantizations,
    tree.n_merges,
    tree.n_children,
    tree.n_descendants
from changed_models
inner join card_features on card_features.model_oid = changed_models.model_oid
inner join tree on tree.model_id = changed_models.model_id
left join license
    on license.model_id = changed_models.model_id
left join {{ ref('license_category_ranks') }} as ranks
    on ranks.license_category = license.license_category
