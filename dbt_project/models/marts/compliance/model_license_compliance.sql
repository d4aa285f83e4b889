-- One row per current model: its licence against the licences of all its ancestors (every
-- relation, every generation, from fct_model_lineage), by the rules of the seed
-- license_violation_rules. license_drift judges each edge alone; this follows the chain, so a
-- grandchild that relaxes its root's terms is caught even when its own edge is clean.
-- Ancestors outside the Hub or without a licence are not judged.
--
-- Incremental, keyed by model: a build judges again the models whose traits changed, the
-- descendants of those (an ancestor's licence changed), the models whose lineage changed
-- (the change feed of fct_model_lineage), and every model when a licence seed changed.
{{ config(
    materialized='incremental',
    unique_key='model_id',
    incremental_strategy='delete+insert',
    meta={'change_feed_from': ['fct_model_lineage']},
    post_hook=[
        "{{ delete_unmatched(ref('int_model_traits'), 'current.model_id = kept.model_id') }}",
        "{{ save_watermark('select max(changed_at) from ' ~ ref('int_model_traits')) }}",
        "{{ save_inputs_fingerprint(license_seeds()) }}",
    ],
) }}

with licensed as (

    -- each model's licence, category and restrictiveness, for the models and their ancestors
    select
        license.model_id,
        license.primary_license,
        license.license_category,
        ranks.restrictiveness_rank
    from {{ ref('int_model_license_category') }} as license
    left join {{ ref('license_category_ranks') }} as ranks
        on ranks.license_category = license.license_category

),

{% if is_incremental() %}
changed_traits as (

    select model_id from {{ ref('int_model_traits') }} where changed_at > {{ watermark() }}

),

judged_again as (

    select model_id from changed_traits

    union

    select lineage.descendant_id
    from {{ ref('fct_model_lineage') }} as lineage
    inner join changed_traits on changed_traits.model_id = lineage.ancestor_id

    union

    select model_id from {{ ref('int_model_traits') }} as traits
    where {{ fed_change('fct_model_lineage', 'traits.model_id') }}
       or {{ inputs_changed(license_seeds()) }}

),
{% endif %}

models as (

    select
        traits.model_id,
        licensed.primary_license,
        licensed.license_category,
        licensed.restrictiveness_rank
    from {{ ref('int_model_traits') }} as traits
    {% if is_incremental() %}
    inner join judged_again on judged_again.model_id = traits.model_id
    {% endif %}
    left join licensed on licensed.model_id = traits.model_id

),

ancestors as (

    select
        lineage.descendant_id as model_id,
        lineage.ancestor_id,
        lineage.distance,
        licensed.primary_license as ancestor_license,
        licensed.license_category as ancestor_category,
        licensed.restrictiveness_rank as ancestor_rank
    from {{ ref('fct_model_lineage') }} as lineage
    inner join licensed on licensed.model_id = lineage.ancestor_id
    where licensed.restrictiveness_rank is not null

),

judged as (

    select
        ancestors.*,
        coalesce(rules.is_violation, false) as is_violation,
        case when rules.is_violation then rules.rule end as violated_rule
    from ancestors
    inner join models on models.model_id = ancestors.model_id
    left join {{ ref('license_violation_rules') }} as rules
        on rules.parent_category = ancestors.ancestor_category
        and rules.child_category = models.license_category

),

per_model as (

    select
        model_id,
        count(*) as n_licensed_ancestors,
        -- most restrictive first, then nearest, then by id
        arg_min(ancestor_license, row(ancestor_rank, distance, ancestor_id))
            as most_restrictive_ancestor_license,
        arg_min(ancestor_category, row(ancestor_rank, distance, ancestor_id))
            as most_restrictive_ancestor_category,
        min(ancestor_rank) as most_restrictive_ancestor_rank,
        arg_min(ancestor_id, row(ancestor_rank, distance, ancestor_id))
            as most_restrictive_ancestor_id,
        count(*) filter (where is_violation) as n_violated_ancestors,
        -- the nearest ancestor whose terms the model breaks, then the most restrictive
        arg_min(ancestor_id, row(distance, ancestor_rank, ancestor_id))
            filter (where is_violation) as violated_ancestor_id,
        arg_min(ancestor_license, row(distance, ancestor_rank, ancestor_id))
            filter (where is_violation) as violated_ancestor_license,
        arg_min(violated_rule, row(distance, ancestor_rank, ancestor_id))
            filter (where is_violation) as violated_rule,
        min(distance) filter (where is_violation) as violation_generations_up,
        coalesce(bool_or(is_violation and distance = 1), false) as breaks_parent_terms
    from judged
    group by model_id

)

select
    models.model_id,
    models.primary_license,
    models.license_category,
    models.restrictiveness_rank,
    coalesce(per_model.n_licensed_ancestors, 0) as n_licensed_ancestors,
    per_model.most_restrictive_ancestor_license,
    per_model.most_restrictive_ancestor_category,
    per_model.most_restrictive_ancestor_rank,
    per_model.most_restrictive_ancestor_id,
    coalesce(per_model.n_violated_ancestors, 0) > 0 as breaks_ancestor_terms,
    coalesce(per_model.breaks_parent_terms, false) as breaks_parent_terms,
    coalesce(per_model.n_violated_ancestors, 0) as n_violated_ancestors,
    per_model.violated_ancestor_id,
    per_model.violated_ancestor_license,
    per_model.violated_rule,
    per_model.violation_generations_up
from models
left join per_model on per_model.model_id = models.model_id
