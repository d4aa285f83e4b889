-- One row per family and calendar month of creation (UTC) with at least one new member:
-- the models created that month and the family's cumulative size at the month's end.
-- Models without a creation time are left out. Incremental like family_stats.
{{ config(
    materialized='incremental',
    unique_key='family_root_id',
    incremental_strategy='delete+insert',
    post_hook=[
        "{{ delete_unmatched(ref('family_stats'), 'current.family_root_id = kept.family_root_id') }}",
        "{{ save_family_fingerprints() }}",
    ],
) }}

with members as (

    select * from {{ ref('int_family_members') }}
    where created_at is not null
    {% if is_incremental() %}
      and family_root_id in (
        select distinct current.family_root_id
        from {{ ref('int_family_members') }} as current
        left join {{ stored_family_fingerprints() }} as stored
            on stored.family_root_id = current.family_root_id
        where stored.family_fingerprint is distinct from current.family_fingerprint
      )
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
