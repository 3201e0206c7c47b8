/**
 * The runnable demo of reactive-locks. The guides' examples live in this module's tests.
 */
@NullMarked
package dev.reactivelocks.docs;

import org.jspecify.annotations.NullMarked;
