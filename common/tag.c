typedef int placeholder_tag;
