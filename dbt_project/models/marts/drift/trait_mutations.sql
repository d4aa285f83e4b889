-- One row per lineage edge between two distinct models of the Hub and per trait the paper's
-- genetic analyses follow (licenses, languages, pipeline_tag, library_name): the values of
-- parent and child and the Jaccard distance between them (the mutation term). The analytics
-- (trait mutation rates, transitions, orderings) aggregate it.
-- Incremental, keyed by child (macro drift_edges): a build rewrites the edges whose child or
-- parent changed its traits, so the analytics after a delta reuse every other edge.
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

    select
        model_id,
        licenses,
        languages,
        case when pipeline_tag is null then [] else [pipeline_tag] end as pipeline_tag,
        case when library_name is null then [] else [library_name] end as library_name
    from {{ ref('int_model_traits') }}

),

paired as (

    select
        edges.parent_id,
        edges.child_id,
        edges.relation,
        parents.licenses as parent_licenses,
        children.licenses as child_licenses,
        parents.languages as parent_languages,
        children.languages as child_languages,
        parents.pipeline_tag as parent_pipeline_tag,
        children.pipeline_tag as child_pipeline_tag,
        parents.library_name as parent_library_name,
        children.library_name as child_library_name
    from edges
    inner join traits as parents on parents.model_id = edges.parent_id
    inner join traits as children on children.model_id = edges.child_id

),

by_trait as (

    unpivot paired
    on (parent_licenses, child_licenses) as licenses,
        (parent_languages, child_languages) as languages,
        (parent_pipeline_tag, child_pipeline_tag) as pipeline_tag,
        (parent_library_name, child_library_name) as library_name
    into name trait value parent_values, child_values

)

select
    parent_id,
    child_id,
    relation,
    trait,
    parent_values,
    child_values,
    {{ jaccard_distance('parent_values', 'child_values') }} as mutation
from by_trait
