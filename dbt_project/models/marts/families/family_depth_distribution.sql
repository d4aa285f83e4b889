-- Ecosystem-wide distribution of depth (generation): models at each depth, and families
-- whose deepest member sits at that depth.
with models_at_depth as (

    select depth, count(*) as n_models
    from {{ ref('dim_model_family') }}
    group by depth

),

families_by_max_depth as (

    select max_depth as depth, count(*) as n_families
    from {{ ref('family_stats') }}
    group by max_depth

)

select
    models_at_depth.depth,
    models_at_depth.n_models,
    coalesce(families_by_max_depth.n_families, 0) as n_families_with_this_max_depth
from models_at_depth
left join families_by_max_depth on families_by_max_depth.depth = models_at_depth.depth
