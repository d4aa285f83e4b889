-- The paper's numerical drifts (section 4.7) per relation type, plus an `all` row:
-- languages (means over edges where both report a language, and unconditional), the
-- multilingual -> English-only share, card length where both have a card, and the shares of
-- cards that are present, auto-generated and templated, for parents and for children.
with languages as (

    select
        coalesce(relation, 'untyped') as relation,
        parent_id,
        child_id,
        parent_n_languages,
        child_n_languages,
        both_report_languages,
        parent_is_multilingual,
        is_multilingual_to_english_only
    from {{ ref('language_drift') }}

),

cards as (

    select coalesce(relation, 'untyped') as relation, *
        exclude (relation)
    from {{ ref('card_drift') }}

),

joined as (

    select languages.*, cards.* exclude (relation, parent_id, child_id)
    from languages
    inner join cards
        on cards.parent_id = languages.parent_id and cards.child_id = languages.child_id

)

select
    coalesce(relation, 'all') as relation,
    count(*) as n_edges,
    count(*) filter (where both_report_languages) as n_edges_both_report_languages,
    avg(parent_n_languages) filter (where both_report_languages) as mean_parent_languages,
    avg(child_n_languages) filter (where both_report_languages) as mean_child_languages,
    avg(parent_n_languages) as mean_parent_languages_unconditional,
    avg(child_n_languages) as mean_child_languages_unconditional,
    count(*) filter (where parent_is_multilingual) as n_edges_multilingual_parent,
    avg(is_multilingual_to_english_only::int) filter (where parent_is_multilingual)
        as share_multilingual_to_english_only,
    count(*) filter (where both_have_card) as n_edges_both_have_card,
    avg(parent_card_length_chars) filter (where both_have_card) as mean_parent_card_chars,
    avg(child_card_length_chars) filter (where both_have_card) as mean_child_card_chars,
    avg(card_length_chars_change) filter (where both_have_card) as mean_card_chars_change,
    avg(parent_card_length_words) filter (where both_have_card) as mean_parent_card_words,
    avg(child_card_length_words) filter (where both_have_card) as mean_child_card_words,
    avg(parent_has_card::int) as share_parent_has_card,
    avg(child_has_card::int) as share_child_has_card,
    avg(parent_card_is_auto_generated::int) as share_parent_auto_generated,
    avg(child_card_is_auto_generated::int) as share_child_auto_generated,
    avg(parent_card_is_templated::int) as share_parent_templated,
    avg(child_card_is_templated::int) as share_child_templated
from joined
group by grouping sets ((relation), ())
