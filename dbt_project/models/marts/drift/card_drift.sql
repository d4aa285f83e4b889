-- One row per lineage edge between two distinct models of the Hub: card presence, length in
-- characters and words, and the auto-generated and template flags of parent and child.
with edges as (

    select parent_id, child_id, relation
    from {{ ref('fct_model_edges') }}
    where parent_in_hub and not is_self_loop

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
