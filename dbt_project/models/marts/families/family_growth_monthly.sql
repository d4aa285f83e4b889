-- One row per family and calendar month of creation (UTC) with at least one new member:
-- the models created that month and the family's cumulative size at the month's end.
-- Models without a creation time are left out. Incremental like family_stats.
{{ config(
    materialized='incremental',
    unique_key='family_root_id',
    incremental_strategy='delete+insert',
    meta={'change_feed_from': ['int_family_members']},
    pre_hook=["{{ delete_changed_families() }}"],
) }}

with members as (

    select * from {{ ref('int_family_members') }} as members
    where members.created_at is not null
    {% if is_incremental() %}
      and members.family_root_id in ({{ changed_families() }})
    {% endif %}

),

monthly as (

    select
        family_root_id,
        date_trunc('month', created_at)::date as month,
        count(*) as n_new_models
    from members
    group by family_root_id, date_trunc('month', created_at)::date

)

select
    family_root_id,
    month,
    n_new_models,
    sum(n_new_models) over (
        partition by family_root_id order by month
        rows between unbounded preceding and current row
    )::bigint as n_models_cumulative
from monthly
