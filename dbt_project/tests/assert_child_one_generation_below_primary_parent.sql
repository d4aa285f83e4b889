-- A child is exactly one generation deeper than its primary parent.
select child.model_id, child.depth, parent.depth as parent_depth
from {{ ref('dim_model_family') }} as child
inner join {{ ref('dim_model_family') }} as parent on parent.model_id = child.primary_parent_id
where child.depth <> parent.depth + 1
