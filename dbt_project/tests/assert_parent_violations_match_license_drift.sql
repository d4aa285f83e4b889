-- A model breaks a direct parent's terms exactly when license_drift flags one of its edges.
with by_edge as (
    select distinct child_id as model_id from {{ ref('license_drift') }} where is_violation
),
by_chain as (
    select model_id from {{ ref('model_license_compliance') }} where breaks_parent_terms
)
(select model_id, 'edge only' as found from by_edge except select model_id, 'edge only' from by_chain)
union all
(select model_id, 'chain only' from by_chain except select model_id, 'chain only' from by_edge)
