-- Ecosystem-wide distribution of family sizes: how many families have each size.
select
    n_models as family_size,
    count(*) as n_families,
    count(*) * n_models as n_models,
    count(*) / sum(count(*)) over () as share_of_families
from {{ ref('family_stats') }}
group by n_models
