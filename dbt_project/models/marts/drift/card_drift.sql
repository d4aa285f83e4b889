-- One row per lineage edge between two distinct models of the Hub: card presence, length in
-- characters and words, and the auto-generated and template flags of parent and child.
-- Incremental, keyed by child (macro drift_edges): a build rewrites the edges whose child or
-- parent changed its row in dim_models (its change feed).
{{ config(
    materialized='incremental',
    unique_key='child_id',
    incremental_strategy='delete+insert',
    meta={'change_feed_from': ['fct_model_edges', 'dim_models']},
    post_hook=["{{ delete_gone_edges() }}"],
) }}

with edges as (

    {{ drift_edges(
        'select changed.model_id from ' ~ ref('dim_models') ~ ' as changed where '
        ~ fed_change('dim_models', 'changed.model_oid')
    ) }}

),

models as (

    select
        model_id,
        has_card,
        card_length_chars,
        card_length_words,
        card_is_auto_generated,
        card_is_templated
    from {{ ref('dim_models') }}

)

select
    edges.parent_id,
    edges.child_id,
    edges.relation,
    parents.has_card as parent_has_card,
    children.has_card as child_has_card,
    parents.has_card and children.has_card as both_have_card,
    parents.card_length_chars as parent_card_length_chars,
    children.card_length_chars as child_card_length_chars,
    children.card_length_chars - parents.card_length_chars as card_length_chars_change,
    parents.card_length_words as parent_card_length_words,
    children.card_length_words as child_card_length_words,
    children.card_length_words - parents.card_length_words as card_length_words_change,
    parents.card_is_auto_generated as parent_card_is_auto_generated,
    children.card_is_auto_generated as child_card_is_auto_generated,
    parents.card_is_templated as parent_card_is_templated,
    children.card_is_templated as child_card_is_templated
from edges
inner join models as parents on parents.model_id = edges.parent_id
inner join models as children on children.model_id = edges.child_id
