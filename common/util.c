typedef int placeholder_util;
