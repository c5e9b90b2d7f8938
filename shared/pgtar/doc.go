// Package pgtar turns a PostgreSQL data directory and its tablespaces into
// the tar archives barman-cloud-backup uploads, split at a maximum size,
// and extracts such archives safely for barman-cloud-restore.
//
// It mirrors Barman's barman/cloud.py (CloudUploadController.upload_directory,
// CloudTarUploader, TarFileIgnoringTruncate), barman/fs.py (path_allowed)
// and barman/postgres_plumbing.py (EXCLUDE_LIST, PGDATA_EXCLUDE_LIST), with
// the deliberate improvements each marked "Deliberate improvement" in the
// code. It knows nothing of object storage: archives are written to the
// Parts a caller opens (which compress and upload), and extraction reads a
// decompressed stream.
//
// This package is part of the barman-cloud command and has no compatibility
// promise as a library.
package pgtar
