-- The method choices this release was scored with (config/method.yaml as run): one row per setting.
SELECT setting, value
FROM int_index_settings
ORDER BY setting
