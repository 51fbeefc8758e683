typedef int placeholder_amf0;
