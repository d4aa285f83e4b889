-- License transition counts: edges per (relation, parent license, child license) among edges
-- where both ends declare a license, with the violation flag of the transition.
select
    coalesce(relation, 'untyped') as relation,
    parent_license,
    child_license,
    parent_license_category,
    child_license_category,
    is_violation,
    count(*) as n_edges
from {{ ref('license_drift') }}
where both_licensed
group by all
