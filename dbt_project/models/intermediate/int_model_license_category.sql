-- Each current model's licenses bucketed into the paper's categories (commercial,
-- use-restricted, copyleft, permissive, other). A model with several licenses is represented
-- by its most restrictive one (ties by name); a model without a license has none.
with model_licenses as (

    select model_id, unnest(licenses) as license
    from {{ ref('int_model_traits') }}

),

categorised as (

    select
        model_licenses.model_id,
        model_licenses.license,
        coalesce(categories.license_category, 'other') as license_category,
        ranks.restrictiveness_rank
    from model_licenses
    left join {{ ref('license_categories') }} as categories
        on categories.license = model_licenses.license
    inner join {{ ref('license_category_ranks') }} as ranks
        on ranks.license_category = coalesce(categories.license_category, 'other')

)

select
    model_id,
    arg_min(license, restrictiveness_rank::varchar || ':' || license) as primary_license,
    arg_min(license_category, restrictiveness_rank::varchar || ':' || license)
        as license_category
from categorised
group by model_id
