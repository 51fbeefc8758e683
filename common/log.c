typedef int placeholder_log;
