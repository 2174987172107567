package com.cloudbees.groovy.cps

import java.lang.annotation.ElementType
import java.lang.annotation.Retention
import java.lang.annotation.RetentionPolicy
import java.lang.annotation.Target

/**
 * Stands in for the annotation of the same name from Jenkins' CPS engine,
 * which Jenkins imports into every Jenkinsfile and library script: a method
 * that runs without CPS, as plain Groovy.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target([ElementType.METHOD, ElementType.CONSTRUCTOR])
@interface NonCPS {
}
