typedef int placeholder_flv;
