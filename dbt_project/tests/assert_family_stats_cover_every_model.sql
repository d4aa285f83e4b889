-- The families partition the models: sizes add up and every root has a family row.
select
    (select count(*) from {{ ref('dim_model_family') }}) as n_models,
    (select sum(n_models) from {{ ref('family_stats') }}) as n_in_families,
    (select count(*) from {{ ref('dim_model_family') }} where is_root) as n_roots,
    (select count(*) from {{ ref('family_stats') }}) as n_families
where n_models <> coalesce(n_in_families, 0) or n_roots <> n_families
