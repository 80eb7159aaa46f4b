/*
 * gio/gio.h: for `make binding-check` only. The Moddable SDK's lin_xs.h
 * names a few GLib types in its machine fields; opaque declarations are
 * enough to compile against it without GLib's headers.
 */
typedef struct _GSocket GSocket;
typedef struct _GSource GSource;
typedef struct _GMainContext GMainContext;
typedef struct _GMainLoop GMainLoop;
typedef struct { void *p; } GMutex;
typedef struct { void *p; } GCond;
typedef int gboolean;
typedef void *gpointer;
