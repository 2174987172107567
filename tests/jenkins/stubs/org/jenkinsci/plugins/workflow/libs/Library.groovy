package org.jenkinsci.plugins.workflow.libs

import java.lang.annotation.ElementType
import java.lang.annotation.Retention
import java.lang.annotation.RetentionPolicy
import java.lang.annotation.Target

/**
 * Stands in for the annotation of the same name from Jenkins' pipeline
 * library plugin, which Jenkins imports into every Jenkinsfile, so that
 * `@Library('ecs-pipeline') _` compiles and loads outside Jenkins.
 */
@Retention(RetentionPolicy.SOURCE)
@Target([ElementType.LOCAL_VARIABLE, ElementType.FIELD, ElementType.TYPE, ElementType.METHOD,
    ElementType.CONSTRUCTOR, ElementType.PACKAGE, ElementType.PARAMETER])
@interface Library {
    String[] value()
}
