-- One row per lineage edge between two distinct models of the Hub: the languages of parent
-- and child (ISO 639-1 codes from tags, as the paper), and multilingual -> English-only moves.
-- Incremental, keyed by child (macro drift_edges): a build rewrites the edges whose child or
-- parent changed its traits.
{{ config(
    materialized='incremental',
    unique_key='child_id',
    incremental_strategy='delete+insert',
    meta={'change_feed_from': ['fct_model_edges']},
    post_hook=[
        "{{ delete_gone_edges() }}",
        "{{ save_watermark('select max(changed_at) from ' ~ ref('int_model_traits')) }}",
    ],
) }}

with edges as (

    {{ drift_edges(
        'select model_id from ' ~ ref('int_model_traits') ~ ' where changed_at > ' ~ watermark()
    ) }}

),

traits as (

    select model_id, languages, is_multilingual from {{ ref('int_model_traits') }}

),

paired as (

    select
        edges.parent_id,
        edges.child_id,
        edges.relation,
        parents.languages as parent_languages,
        children.languages as child_languages,
        len(parents.languages) as parent_n_languages,
        len(children.languages) as child_n_languages,
        len(parents.languages) > 1 or parents.is_multilingual as parent_is_multilingual,
        children.languages = ['en'] and not children.is_multilingual as child_is_english_only
    from edges
    inner join traits as parents on parents.model_id = edges.parent_id
    inner join traits as children on children.model_id = edges.child_id

)

select
    *,
    parent_n_languages > 0 and child_n_languages > 0 as both_report_languages,
    parent_is_multilingual and child_is_english_only as is_multilingual_to_english_only,
    -- The paper's mutation rate term: Jaccard distance, only where both report languages.
    {{ jaccard_distance('parent_languages', 'child_languages') }} as language_mutation
from paired
