typedef int placeholder_cfg;
