-- The paper's createdAt histogram: models created per month, and the running total.
with monthly as (

    select date_trunc('month', created_at)::date as created_month, count(*) as n_models
    from {{ ref('dim_models') }}
    where created_at is not null
    group by all

)

select
    created_month,
    n_models,
    sum(n_models) over (order by created_month)::bigint as n_models_cumulative
from monthly
