-- No cycle goes unflagged: a model that has a non-merge parent in the Hub but no primary
-- parent must be the flagged breaking point of a cycle, and every flagged cycle member must
-- have such a parent. (Depth rising by one along every primary link, tested separately,
-- rules out any cycle left in the primary-parent forest.)
with candidates as (

    select child_id as model_id
    from {{ ref('fct_model_edges') }}
    where parent_in_hub and not is_self_loop and relation is distinct from 'merge'

)

select family.model_id, family.is_in_cycle, family.cycle_broken_parent_id
from {{ ref('dim_model_family') }} as family
where (
        family.primary_parent_id is null
        and family.model_id in (select model_id from candidates)
        and not (family.is_in_cycle and family.cycle_broken_parent_id is not null)
    )
   or (family.is_in_cycle and family.model_id not in (select model_id from candidates))
