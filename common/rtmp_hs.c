typedef int placeholder_rtmp_hs;
