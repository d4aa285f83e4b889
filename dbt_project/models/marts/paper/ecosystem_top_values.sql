-- The paper's summary figure (paper-notes 3.7): the top 10 values of each panel, each with
-- the denominator the paper divides by. Licences, languages and datasets are read from the
-- tags as the paper reads them; arXiv categories need an id -> category map that the
-- warehouse does not have, so the panel counts the linked arXiv ids themselves. The tag values
-- come parsed from int_model_tag_values (one row per model and distinct value), so a build
-- after a small delta does not re-read every raw payload.
with models as (

    select model_oid, model_id, pipeline_tag, library_name, downloads
    from {{ ref('int_model_traits') }}

),

tag_values as (

    select model_oid, panel, value
    from {{ ref('int_model_tag_values') }}
    where panel in ('licenses', 'datasets', 'arxiv_ids')

),

languages as (

    select distinct tag_values.model_oid, iso.language_name as value
    from {{ ref('int_model_tag_values') }} as tag_values
    inner join {{ ref('iso_639_1_languages') }} as iso on iso.language_code = tag_values.value
    where tag_values.panel = 'language_tags'

),

-- The paper counts children per parent from the untyped `base_model:<id>` tag; a child naming
-- several parents there is one odd string in the paper and is left out here.
single_untyped_parents as (

    select any_value(value) as value
    from {{ ref('int_model_tag_values') }}
    where panel = 'untyped_parents'
    group by model_oid
    having count(*) = 1

),

counted as (

    select panel, value, count(*) as n
    from tag_values
    group by all

    union all

    select 'languages', value, count(*) from languages group by all

    union all

    select 'tasks', pipeline_tag, count(*) from models where pipeline_tag is not null group by all

    union all

    select 'libraries', library_name, count(*) from models where library_name is not null
    group by all

    union all

    select 'parents_by_children', value, count(*) from single_untyped_parents group by all

    union all

    -- only the top 10 can rank: ranking all models would sort millions of rows
    select * from (
        select 'most_downloaded', model_id, downloads from models where downloads is not null
        order by downloads desc, model_id
        limit 10
    )

),

denominators as (

    select
        count(*) as n_models,
        count(*) filter (where pipeline_tag is not null) as n_with_task,
        count(*) filter (where library_name is not null) as n_with_library,
        (select count(distinct model_oid) from languages) as n_with_language
    from models

),

ranked as (

    select
        panel,
        row_number() over (partition by panel order by n desc, value) as rank,
        value,
        n
    from counted

)

select
    ranked.panel,
    ranked.rank,
    ranked.value,
    ranked.n,
    case ranked.panel
        when 'licenses' then denominators.n_models
        when 'tasks' then denominators.n_with_task
        when 'libraries' then denominators.n_with_library
        when 'languages' then denominators.n_with_language
    end as denominator,
    ranked.n / denominator::double as share,
    case ranked.panel
        when 'licenses' then 'models carrying the license tag, of all models'
        when 'tasks' then 'models with this pipeline_tag, of models with a pipeline_tag'
        when 'libraries' then 'models with this library_name, of models with a library_name'
        when 'languages' then 'models tagged with the language, of models with a language tag'
        when 'datasets' then 'models tagged with the dataset (raw count)'
        when 'arxiv_ids' then 'models linking the arXiv id (raw count)'
        when 'parents_by_children' then 'children naming it in their only untyped base_model tag'
        when 'most_downloaded' then 'downloads in the last 30 days'
    end as counted_as
from ranked
cross join denominators
where ranked.rank <= 10
