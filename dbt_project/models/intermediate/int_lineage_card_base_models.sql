-- One row per (child, parent) named by a current model's card header `base_model` (the macro
-- card_base_model_declarations says how).
{{ card_base_model_declarations(ref('int_model_traits')) }}
