/**
 * Helpers shared between the packages of reactive-locks. Not an API: anything here may change in any
 * release without notice.
 */
@NullMarked
package dev.reactivelocks.internal;

import org.jspecify.annotations.NullMarked;
