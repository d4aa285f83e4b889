-- A child belongs to its primary parent's family.
select child.model_id, child.family_root_id, parent.family_root_id as parent_root_id
from {{ ref('dim_model_family') }} as child
inner join {{ ref('dim_model_family') }} as parent on parent.model_id = child.primary_parent_id
where child.family_root_id <> parent.family_root_id
