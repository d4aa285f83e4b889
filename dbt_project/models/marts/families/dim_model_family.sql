-- Every current model's place in its family tree (the paper's families: trees of the lineage
-- graph without merge edges), made well defined for the real Hub:
--   * the candidate parents of a model are its non-merge parents present in the Hub,
--     self-loops ignored;
--   * its primary parent is the candidate with the strongest relation by the paper's
--     precedence (adapter > quantized > finetune > untyped), ties to the smallest parent id;
--   * a model without a candidate parent is a root (depth 0), also when all its parents are
--     merges (flagged is_merge_root);
--   * every other model joins its primary parent's family one generation deeper;
--   * primary-parent cycles are broken at their smallest model id, which becomes the root
--     (flagged, with the dropped parent kept in cycle_broken_parent_id).
-- Each model's row depends only on its chain of primary parents, so an incremental run
-- recomputes the subtrees below models whose edges changed (the change feed of
-- fct_model_edges) or that are new, and nothing else.
{{ config(
    materialized='incremental',
    unique_key='model_id',
    incremental_strategy='delete+insert',
    meta={'change_feed_from': ['fct_model_edges']},
    post_hook=[
        "{{ delete_unmatched(ref('int_model_traits'), 'current.model_id = kept.model_id') }}",
        "{{ save_watermark('select max(changed_at) from ' ~ ref('int_model_traits')) }}",
    ],
) }}

with recursive models as (

    select model_id from {{ ref('int_model_traits') }}

),

edges as (

    select
        parent_id,
        child_id,
        relation,
        parent_in_hub,
        is_self_loop,
        parent_in_hub and not is_self_loop as is_present_parent,
        parent_in_hub and not is_self_loop and relation is distinct from 'merge'
            as is_candidate_parent,
        case relation
            when 'adapter' then 1 when 'quantized' then 2 when 'finetune' then 3 else 4
        end as primary_rank
    from {{ ref('fct_model_edges') }}

),

{#- Each model's candidate parent, parent counts and flags, from its edges. -#}
{% set lineage_columns %}
        models.model_id,
        -- the first candidate by precedence, then parent id (arg_min_null: an untyped
        -- relation is null); an ordered list of every model's parents took twice as long
        arg_min_null(edges.parent_id, row(edges.primary_rank, edges.parent_id))
            filter (where edges.is_candidate_parent) as candidate_parent_id,
        arg_min_null(edges.relation, row(edges.primary_rank, edges.parent_id))
            filter (where edges.is_candidate_parent) as candidate_relation,
        count(edges.parent_id) filter (where edges.is_present_parent) as n_parents,
        count(edges.parent_id) filter (where edges.is_candidate_parent) as n_non_merge_parents,
        coalesce(bool_or(edges.is_present_parent and edges.relation = 'merge'), false)
            as is_merge_child,
        coalesce(bool_or(not edges.parent_in_hub), false) as has_missing_parent,
        coalesce(bool_or(edges.is_self_loop), false) as has_self_loop
{% endset %}

{% if is_incremental() %}
-- Models whose edges changed since the stored tree was built, and new models: those are
-- among the models whose traits changed since (a new or renamed model's row is written
-- then), which spares an anti-join of every model with the stored tree (0.9 s at 3M).
seeds as (

    select model_id from models
    where {{ fed_change('fct_model_edges', 'models.model_id') }}

    union

    select traits.model_id from {{ ref('int_model_traits') }} as traits
    anti join {{ this }} as stored on stored.model_id = traits.model_id
    where traits.changed_at > {{ watermark() }}

),

seed_lineage as (

    select {{ lineage_columns }}
    from models
    left join edges on edges.child_id = models.model_id
    where models.model_id in (select model_id from seeds)
    group by models.model_id

),

-- The new primary-parent forest as far as the walk below needs it: the seeds' new candidate
-- parents, every other model's stored one (its edges did not change).
forest as (

    select model_id, candidate_parent_id from seed_lineage

    union all

    select model_id, coalesce(primary_parent_id, cycle_broken_parent_id)
    from {{ this }}
    where model_id not in (select model_id from seeds)

),

-- Seeds and everything below them in the new primary-parent forest (UNION stops at cycles).
affected_ids (model_id) as (

    select model_id from seeds

    union

    select forest.model_id
    from affected_ids
    inner join forest on forest.candidate_parent_id = affected_ids.model_id

),

affected as (

    select {{ lineage_columns }}
    from models
    left join edges on edges.child_id = models.model_id
    where models.model_id in (select model_id from affected_ids)
    group by models.model_id

),
{% else %}
affected as (

    select {{ lineage_columns }}
    from models
    left join edges on edges.child_id = models.model_id
    group by models.model_id

),
{% endif %}

-- Where the walk down the tree starts: roots, and (incrementally) models whose primary
-- parent is unchanged and keeps its stored position.
anchors as (

    select model_id, model_id as family_root_id, 0 as depth
    from affected
    where candidate_parent_id is null

    {% if is_incremental() %}
    union all

    select affected.model_id, stored.family_root_id, stored.depth + 1
    from affected
    inner join {{ this }} as stored on stored.model_id = affected.candidate_parent_id
    where affected.candidate_parent_id not in (select model_id from affected)
    {% endif %}

),

children as (

    select model_id, candidate_parent_id
    from affected
    where candidate_parent_id is not null

),

-- Each model has at most one primary parent, so every model is reached at most once and
-- models on a cycle are never reached from a root.
tree (model_id, family_root_id, depth) as (

    select model_id, family_root_id, depth from anchors

    union all

    select children.model_id, tree.family_root_id, tree.depth + 1
    from tree
    inner join children on children.candidate_parent_id = tree.model_id

),

unreached as (

    select affected.model_id, affected.candidate_parent_id
    from affected
    anti join tree on tree.model_id = affected.model_id

),

-- Walk up from every unreached model with a path guard; a walk that comes back to its
-- start has gone round a cycle, and its path holds exactly the cycle's members.
walks (start_id, current_id, path) as (

    select model_id, candidate_parent_id, [model_id]
    from unreached

    union all

    select walks.start_id, unreached.candidate_parent_id, list_append(walks.path, walks.current_id)
    from walks
    inner join unreached on unreached.model_id = walks.current_id
    where not list_contains(walks.path, walks.current_id)

),

cycle_members as (

    select start_id as model_id, list_min(path) as cycle_root_id
    from walks
    where current_id = start_id

),

unreached_flagged as (

    select
        unreached.model_id,
        unreached.candidate_parent_id,
        cycle_members.model_id is not null as is_in_cycle,
        coalesce(cycle_members.cycle_root_id = unreached.model_id, false) as is_cycle_break_root
    from unreached
    left join cycle_members on cycle_members.model_id = unreached.model_id

),

cycle_tree (model_id, family_root_id, depth) as (

    select model_id, model_id, 0
    from unreached_flagged
    where is_cycle_break_root

    union all

    select child.model_id, cycle_tree.family_root_id, cycle_tree.depth + 1
    from cycle_tree
    inner join unreached_flagged as child
        on child.candidate_parent_id = cycle_tree.model_id
        and not child.is_cycle_break_root

),

placed as (

    select model_id, family_root_id, depth, false as is_in_cycle, false as is_cycle_break_root
    from tree

    union all

    select
        cycle_tree.model_id,
        cycle_tree.family_root_id,
        cycle_tree.depth,
        unreached_flagged.is_in_cycle,
        unreached_flagged.is_cycle_break_root
    from cycle_tree
    inner join unreached_flagged on unreached_flagged.model_id = cycle_tree.model_id

)

select
    affected.model_id,
    placed.family_root_id,
    placed.depth,
    placed.depth = 0 as is_root,
    case when not placed.is_cycle_break_root then affected.candidate_parent_id end
        as primary_parent_id,
    case when not placed.is_cycle_break_root then affected.candidate_relation end
        as primary_relation,
    affected.n_parents,
    affected.n_non_merge_parents,
    affected.is_merge_child,
    affected.is_merge_child and affected.n_non_merge_parents = 0 as is_merge_root,
    affected.has_missing_parent,
    affected.has_self_loop,
    placed.is_in_cycle,
    case when placed.is_cycle_break_root then affected.candidate_parent_id end
        as cycle_broken_parent_id
from affected
inner join placed on placed.model_id = affected.model_id
