/**
 * JUnit 5 support for tests of code that uses reactive-locks: {@link dev.reactivelocks.testkit.TempLockDir}
 * injects a fresh, private lock directory per test and removes it afterwards, and
 * {@link dev.reactivelocks.testkit.LockFixture} holds a named lock while each test runs, so that the code
 * under test finds it busy. Add this artifact with test scope.
 */
@NullMarked
package dev.reactivelocks.testkit;

import org.jspecify.annotations.NullMarked;
